import hashlib

def bucket_for(key: str, buckets: int) -> int:
    return int(hashlib.md5(key.encode(), usedforsecurity=False).hexdigest(), 16) % buckets
