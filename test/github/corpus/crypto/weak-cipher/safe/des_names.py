# Describes legacy algorithms for a migration report; nothing is encrypted here.
LEGACY = {'DES': 'broken', 'RC4': 'broken', '3DES': 'deprecated'}

def describe(name):
    return LEGACY.get(name.upper(), 'ok')
