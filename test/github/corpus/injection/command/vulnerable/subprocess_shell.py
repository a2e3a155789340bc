import subprocess

def lookup(domain):
    return subprocess.check_output(f"nslookup {domain}", shell=True)
