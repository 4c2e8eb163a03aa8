// A self-signed certificate for 127.0.0.1 and localhost (P-256, valid for 100 years), made for tests only with:
// openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBmjCCAUGgAwIBAgIUedOssudnpJRYjloynlVs41aRpEowCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMTIxMDExN1oYDzIxMjYxMDI4
MjEwMTE3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASAc5NjEhFZFmMPqcoPQDjQYWLJHEdLjQIoy2K4rZgJC5ljwKIzPajA
hi6Ak5hwpRbSjw/hXrYS/vBu4XFR2zNVo28wbTAdBgNVHQ4EFgQUBjyyEkjI+6AW
QG+ug1/nrouYwkIwHwYDVR0jBBgwFoAUBjyyEkjI+6AWQG+ug1/nrouYwkIwDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDRwAwRAIgbXVNpeIPj1TAhx+bsqxt+IqfklNut+AH+9Zv81a75mYCIDkb
QWjgtFb8ucFbWJBW866+hChlF79qgbhczlTOP4uP
-----END CERTIFICATE-----
`;
export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+5ig5fqfxFby7IW2
TF4ZpwL7wpJaRAHJEcwEwBQn7TShRANCAASAc5NjEhFZFmMPqcoPQDjQYWLJHEdL
jQIoy2K4rZgJC5ljwKIzPajAhi6Ak5hwpRbSjw/hXrYS/vBu4XFR2zNV
-----END PRIVATE KEY-----
`;
