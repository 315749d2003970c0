package commands

import (
	"slices"
	"testing"
)

func TestSortTagsNewestVersionFirst(t *testing.T) {
	tags := []string{"latest", "v1.9.0", "v1.10.0", "1.54.2", "v1.54.10", "pr-12", "v1.54.10-rc.1", "snapshot", "v2"}
	sortTags(tags)
	want := []string{"v2", "v1.54.10", "v1.54.10-rc.1", "1.54.2", "v1.10.0", "v1.9.0", "latest", "pr-12", "snapshot"}
	if !slices.Equal(tags, want) {
		t.Errorf("sorted %v\nwant   %v", tags, want)
	}
}
