import subprocess

def thumbnail(src, dst):
    cmd = "convert %s -resize 100x100 %s" % (src, dst)
    subprocess.call(cmd, shell=True)
