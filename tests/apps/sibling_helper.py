# Imported by sibling.py.
MESSAGE = 'from the sibling module'
