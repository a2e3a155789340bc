import os

def backup(path):
    os.system("tar czf /backups/out.tgz " + path)
