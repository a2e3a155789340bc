import ssl, socket

ctx = ssl.create_default_context()
with socket.create_connection(('example.com', 443)) as sock:
    with ctx.wrap_socket(sock, server_hostname='example.com') as s:
        print(s.version())
