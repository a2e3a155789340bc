import hashlib

def object_id(data: bytes) -> str:
    # The git object id is SHA-1 of the header and content.
    return hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()
