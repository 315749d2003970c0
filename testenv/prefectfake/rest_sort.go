package prefectfake

import (
	"slices"
	"strings"
	"time"
)

// order is one of Prefect's sorts: a comparison, ascending or not.
type order[T any] struct {
	cmp  func(a, b T) int
	desc bool
}

// sortRows sorts rows stably (ties keep the World's order).
func sortRows[T any](rows []T, o order[T]) {
	slices.SortStableFunc(rows, func(a, b T) int {
		if o.desc {
			return -o.cmp(a, b)
		}
		return o.cmp(a, b)
	})
}

// page is rows[offset:offset+limit]; limit nil is Prefect's default.
func page[T any](rows []T, offset int, limit *int) []T {
	n := defaultLimit
	if limit != nil {
		n = *limit
	}
	if offset >= len(rows) {
		return rows[:0]
	}
	return rows[offset:min(len(rows), offset+n)]
}

// cmpTime orders times as PostgreSQL does: NULL (zero) above every value,
// so last ascending and first descending (Prefect's END_TIME_DESC lists the
// runs that have not ended first).
func cmpTime(a, b time.Time) int {
	switch {
	case a.IsZero() && b.IsZero():
		return 0
	case a.IsZero():
		return 1
	case b.IsZero():
		return -1
	}
	return a.Compare(b)
}

// flowRunOrder is one of FlowRunSort's (sorting.py). The World's IDs grow
// with creation, so ID_DESC is creation order, newest first.
func flowRunOrder(sort string) (order[Run], bool) {
	start := func(a, b Run) int {
		return cmpTime(coalesce(a.Start, a.ExpectedStart), coalesce(b.Start, b.ExpectedStart))
	}
	expected := func(a, b Run) int { return cmpTime(a.ExpectedStart, b.ExpectedStart) }
	name := func(a, b Run) int { return strings.Compare(a.Name, b.Name) }
	switch sort {
	case "ID_DESC":
		return order[Run]{func(a, b Run) int { return strings.Compare(a.ID, b.ID) }, true}, true
	case "START_TIME_ASC", "START_TIME_DESC":
		return order[Run]{start, sort == "START_TIME_DESC"}, true
	case "EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC":
		return order[Run]{expected, sort == "EXPECTED_START_TIME_DESC"}, true
	case "NAME_ASC", "NAME_DESC":
		return order[Run]{name, sort == "NAME_DESC"}, true
	case "NEXT_SCHEDULED_START_TIME_ASC":
		return order[Run]{func(a, b Run) int { return cmpTime(nextScheduledStart(a), nextScheduledStart(b)) }, false}, true
	case "END_TIME_DESC":
		return order[Run]{func(a, b Run) int { return cmpTime(a.End, b.End) }, true}, true
	}
	return order[Run]{}, false
}

// taskRunOrder is one of TaskRunSort's.
func taskRunOrder(sort string) (order[TaskRun], bool) {
	expected := func(a, b TaskRun) int { return cmpTime(taskExpectedStart(a), taskExpectedStart(b)) }
	name := func(a, b TaskRun) int { return strings.Compare(a.Name, b.Name) }
	switch sort {
	case "ID_DESC":
		return order[TaskRun]{func(a, b TaskRun) int { return strings.Compare(a.ID, b.ID) }, true}, true
	case "EXPECTED_START_TIME_ASC", "EXPECTED_START_TIME_DESC":
		return order[TaskRun]{expected, sort == "EXPECTED_START_TIME_DESC"}, true
	case "NAME_ASC", "NAME_DESC":
		return order[TaskRun]{name, sort == "NAME_DESC"}, true
	case "NEXT_SCHEDULED_START_TIME_ASC": // no World task run is scheduled: all NULL
		return order[TaskRun]{func(a, b TaskRun) int { return 0 }, false}, true
	case "END_TIME_DESC":
		return order[TaskRun]{func(a, b TaskRun) int { return cmpTime(a.End, b.End) }, true}, true
	}
	return order[TaskRun]{}, false
}

// logOrder is one of LogSort's.
func logOrder(sort string) (order[Log], bool) {
	switch sort {
	case "TIMESTAMP_ASC", "TIMESTAMP_DESC":
		return order[Log]{func(a, b Log) int { return cmpTime(a.Time, b.Time) }, sort == "TIMESTAMP_DESC"}, true
	}
	return order[Log]{}, false
}

// flowOrder is one of FlowSort's and DeploymentSort's: a World flow and its
// deployment share their name and times.
func flowOrder(sort string) (order[Flow], bool) {
	switch sort {
	case "CREATED_DESC", "UPDATED_DESC":
		return order[Flow]{func(a, b Flow) int { return cmpTime(a.Created, b.Created) }, true}, true
	case "NAME_ASC", "NAME_DESC":
		return order[Flow]{func(a, b Flow) int { return strings.Compare(a.Name, b.Name) }, sort == "NAME_DESC"}, true
	}
	return order[Flow]{}, false
}

// nextScheduledStart is set on a scheduled run only.
func nextScheduledStart(r Run) time.Time {
	if r.StateType == Scheduled {
		return r.ExpectedStart
	}
	return time.Time{}
}
