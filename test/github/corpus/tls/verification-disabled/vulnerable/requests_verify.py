import requests

def fetch_report(url, token):
    resp = requests.get(url, headers={'Authorization': f'Bearer {token}'}, verify=False)
    return resp.json()
