package registry

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"
)

// Distribution logs through logrus's standard logger, which prints to
// stderr, and offers no other hook from outside its module. So the first
// New silences that logger (slipway has no other logrus user) and sends
// its warnings and errors, at slog's debug level, to the logger of the
// most recent New. Its info lines (one per request) are not even
// formatted. Nothing logged there holds a password: distribution never
// logs the Authorization header, and serve logs only the user name.
var (
	distLogger atomic.Pointer[slog.Logger]
	quietOnce  sync.Once
)

func routeDistributionLogs(l *slog.Logger) {
	distLogger.Store(l)
	quietOnce.Do(func() {
		logrus.SetOutput(io.Discard)
		logrus.SetLevel(logrus.WarnLevel)
		logrus.AddHook(logHook{})
	})
}

type logHook struct{}

func (logHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

// logFields are the fields of distribution's entries worth keeping.
var logFields = []string{"err.code", "err.message", "err.detail", "error", "http.request.method", "http.request.uri", "vars.name"}

func (logHook) Fire(e *logrus.Entry) error {
	l := distLogger.Load()
	if l == nil {
		return nil
	}
	attrs := []any{"level", e.Level.String()}
	for _, k := range logFields {
		if v, ok := e.Data[k]; ok {
			attrs = append(attrs, k, v)
		}
	}
	l.Debug("registry: distribution: "+e.Message, attrs...)
	return nil
}
