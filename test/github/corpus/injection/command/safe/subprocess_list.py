import subprocess

def lookup(domain):
    return subprocess.run(["nslookup", domain], capture_output=True, check=True).stdout
