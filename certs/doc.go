// Package certs makes slipway's router the TLS edge of the apps: it gives
// every name an app owns a certificate from an ACME server (Let's Encrypt
// by default), on the first handshake for it or when the domain is added,
// answers the ACME challenges (HTTP-01 on the HTTP listener, TLS-ALPN-01
// on the HTTPS one), renews them well before they expire and keeps them in
// DATA/certs. It uses caddyserver/certmagic, which does all of that with a
// decision function for on-demand issuance, a file storage and renewal in
// the background, and staples OCSP; golang.org/x/crypto/acme/autocert (what
// kamal-proxy uses) has no status to show, no TLS-ALPN answers outside its
// own listener and no stapling.
//
// Imports: slipway, internal/*.
package certs
