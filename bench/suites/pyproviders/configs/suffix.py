def get_suffix():
    return ""
