// Package apps is slipway's application layer: every use case on an app
// lives here once (deploy a push, config release, rollback, scale, rolling
// restart, destroy, prune, restore on boot), each taking the app's lock
// itself, and it is the one writer of the history. It implements the
// domain's slipway.AppService, which the transports (gitserver, web, the
// management commands) call without knowing this package; it drives the
// builder and the releaser. Every use case goes the same way: persist,
// then switch the router (through the releaser), then report.
//
// It also implements slipway.BackingServices: the PostgreSQL and Redis
// services' use cases (create, link as a config release, backups and
// restores, stop and start), whose server processes package services runs,
// started before the apps at boot and stopped after them.
//
// And slipway.WebhookService: the apps' deploy webhooks, which it tells
// of every push, rollback and config change it makes and every crash the
// releaser reports (Config.Webhooks, package webhooks' Notifier).
//
// It still imports gitserver, a transport, for what gitserver knows of a
// repository (a push, its refs and commits) and of authorized_keys; those
// belong in a package of their own below both.
//
// Imports: slipway, appdisk, builder, certs, gitserver, images, registry, releaser, services, supervisor, internal/*.
package apps
