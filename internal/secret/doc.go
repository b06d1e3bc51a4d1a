// Package secret keeps the secrets slipway makes itself in its data dir:
// the key that signs affinity cookies and the admin token.
//
// Imports: internal/*.
package secret
