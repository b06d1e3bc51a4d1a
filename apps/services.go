package apps

import (
	"context"
	"io"

	"github.com/slipway/slipway"
)

var _ slipway.BackingServices = (*Service)(nil)

// errNoServices stands for the backing services' use cases while they are
// being built.
var errNoServices = slipway.Errorf(slipway.EINVALID, "backing services are not built yet")

func (s *Service) CreateService(ctx context.Context, kind slipway.ServiceKind, name, version string, out io.Writer) error {
	return errNoServices
}

func (s *Service) LinkService(ctx context.Context, kind slipway.ServiceKind, name, app string, out io.Writer) (string, error) {
	return "", errNoServices
}

func (s *Service) UnlinkService(ctx context.Context, kind slipway.ServiceKind, name, app string, out io.Writer) error {
	return errNoServices
}

func (s *Service) Services(ctx context.Context, kind slipway.ServiceKind) ([]slipway.ServiceStatus, error) {
	return nil, errNoServices
}

func (s *Service) Service(ctx context.Context, kind slipway.ServiceKind, name string, reveal bool) (*slipway.ServiceStatus, error) {
	return nil, errNoServices
}

func (s *Service) ServiceLogs(ctx context.Context, kind slipway.ServiceKind, name string, opt slipway.LogOptions, out io.Writer) error {
	return errNoServices
}

func (s *Service) RestartService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	return errNoServices
}

func (s *Service) StopService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	return errNoServices
}

func (s *Service) StartService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	return errNoServices
}

func (s *Service) ConnectService(ctx context.Context, kind slipway.ServiceKind, name string, t slipway.Terminal) (int, error) {
	return 0, errNoServices
}

func (s *Service) ExportService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	return errNoServices
}

func (s *Service) ImportService(ctx context.Context, kind slipway.ServiceKind, name string, in io.Reader, out io.Writer) error {
	return errNoServices
}

func (s *Service) BackupService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) (slipway.BackupInfo, error) {
	return slipway.BackupInfo{}, errNoServices
}

func (s *Service) ServiceBackups(ctx context.Context, kind slipway.ServiceKind, name string) ([]slipway.BackupInfo, error) {
	return nil, errNoServices
}

func (s *Service) RestoreService(ctx context.Context, kind slipway.ServiceKind, name, backup string, out io.Writer) error {
	return errNoServices
}

func (s *Service) ScheduleBackups(ctx context.Context, kind slipway.ServiceKind, name, spec string, keep int, out io.Writer) error {
	return errNoServices
}

func (s *Service) DestroyService(ctx context.Context, kind slipway.ServiceKind, name string, out io.Writer) error {
	return errNoServices
}
