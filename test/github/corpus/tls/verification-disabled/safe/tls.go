package client

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
)

func New(pool *x509.CertPool) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, InsecureSkipVerify: false}}}
}
