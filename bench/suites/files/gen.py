import csv
import os


def generate_tests():
    with open(os.path.join(os.path.dirname(__file__), "rows.csv"), newline="") as f:
        return [{"description": f"row {row['word']}", "vars": {"word": row["word"]}} for row in csv.DictReader(f)]
