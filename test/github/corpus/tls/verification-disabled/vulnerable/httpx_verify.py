import httpx

client = httpx.Client(base_url="https://billing.internal", verify=False)
