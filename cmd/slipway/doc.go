// Command slipway is a git-push-to-deploy server: `slipway serve` runs it,
// and `git push` to ssh://git@HOST:2222/NAME deploys app NAME.
//
// Imports: *.
package main
