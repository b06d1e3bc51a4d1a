package web

// actionsView is what the app page's forms need (templates/part-actions.html).
type actionsView struct {
	// On is set when the page may act (Config.Commands): without it the
	// page only shows.
	On    bool
	Types []scaleType
	// Config are the config keys, each with its value when revealed.
	Config []configRow
	// Revealed is set when the page shows values: app.js then leaves it
	// as it is, and it offers to hide them.
	Revealed bool
}

// configRow is a config key on the app page.
type configRow struct {
	ConfigKey
	Value    string
	Revealed bool
}

// actionsView returns the forms' view of d, with the values in revealed.
func (h *Handler) actionsView(d *AppDetail, revealed map[string]string) *actionsView {
	v := &actionsView{On: h.cfg.Commands != nil, Types: scaleTypes(d), Revealed: revealed != nil}
	for _, c := range d.Config {
		val, ok := revealed[c.Key]
		v.Config = append(v.Config, configRow{ConfigKey: c, Value: val, Revealed: ok})
	}
	return v
}
