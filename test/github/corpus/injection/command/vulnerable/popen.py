import os

def grep(pattern, file):
    return os.popen("grep '%s' %s" % (pattern, file)).read()
