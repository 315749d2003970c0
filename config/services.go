package config

import (
	"cmp"
	"slices"
	"strings"
)

// defaultServices are MonitorFish's services, in the order commands list
// them, with the container names the project has used over the years.
func defaultServices() []Service {
	return []Service{
		{Name: "app", ComposeService: "app", KnownNames: []string{"remote_app_1", "monitorfish_backend"}},
		{Name: "db", ComposeService: "db", KnownNames: []string{"remote_db_1", "monitorfish_database"}},
		{Name: "geoserver", ComposeService: "geoserver", KnownNames: []string{"monitorfish_geoserver"}},
		{Name: "pipeline-server", ComposeService: "pipeline-server", KnownNames: []string{"monitorfish-pipeline-server"}},
		{Name: "pipeline-flows", ComposeService: "pipeline-flows", KnownNames: []string{"monitorfish-pipeline-flows", "monitorfish-pipeline-agent"}},
	}
}

func defaultGroups() map[string][]string {
	return map[string][]string{"pipeline": {"pipeline-server", "pipeline-flows"}}
}

// sortServices puts the default services first, in their fixed order, then
// the added ones by name.
func sortServices(services []Service) {
	defaults := defaultServices()
	rank := func(name string) int {
		if i := slices.IndexFunc(defaults, func(s Service) bool { return s.Name == name }); i >= 0 {
			return i
		}
		return len(defaults)
	}
	slices.SortStableFunc(services, func(a, b Service) int {
		return cmp.Or(cmp.Compare(rank(a.Name), rank(b.Name)), strings.Compare(a.Name, b.Name))
	})
}
