package prefect

// The documents mfbot sends to Prefect Server 1: one fixed document per
// method (SetScheduleActive has one per direction). Every variable that
// filters is declared non-null (uuid!, timestamptz!, [String!]!,
// flow_run_bool_exp!) and gqlCheckNoNulls refuses a null anywhere in the
// variables before sending: Prefect's Hasura drops a null inside a where
// and would answer every row. Table queries take uuid and timestamptz
// (Hasura's scalars), mutation inputs UUID (the Python service's).

// gqlRunFields is what mfbot reads of a flow run, with its flow's group
// and name (Run.FlowID is the flow group ID, stable across versions).
const gqlRunFields = `
fragment mfbotRun on flow_run {
  id
  name
  state
  state_message
  state_timestamp
  scheduled_start_time
  start_time
  end_time
  flow { flow_group_id name }
}`

// gqlVersionDoc asks the Python service who it is.
const gqlVersionDoc = `query mfbotVersion {
  hello
  api { version core_version }
}`

// gqlFlowsDoc reads the flows that can run (not archived; the newest
// version of a flow group comes first) and, in the same request, the
// newest run of every flow version that is not scheduled ahead.
const gqlFlowsDoc = `query mfbotFlows($now: timestamptz!) {
  flow(where: {archived: {_eq: false}}, order_by: [{flow_group_id: asc}, {version: desc}]) {
    id
    name
    version
    flow_group_id
    is_schedule_active
    schedule
    flow_group { id name schedule }
  }
  last_runs: flow_run(
    where: {scheduled_start_time: {_lte: $now}}
    distinct_on: [flow_id]
    order_by: [{flow_id: asc}, {scheduled_start_time: desc}]
  ) { ...mfbotRun }
}` + gqlRunFields

// gqlFlowVersionDoc finds the newest unarchived version of a flow group,
// when the caller's Flow has no VersionID.
const gqlFlowVersionDoc = `query mfbotFlowVersion($flowGroupId: uuid!) {
  flow(
    where: {flow_group_id: {_eq: $flowGroupId}, archived: {_eq: false}}
    order_by: [{version: desc}]
    limit: 1
  ) { id name }
}`

// gqlRunsDoc lists recent runs; the adapter builds $where from
// non-null conditions only (scheduled_start_time <= now, always).
const gqlRunsDoc = `query mfbotRuns($where: flow_run_bool_exp!, $limit: Int!) {
  flow_run(where: $where, order_by: [{scheduled_start_time: desc}, {id: desc}], limit: $limit) { ...mfbotRun }
}` + gqlRunFields

// gqlRunDoc reads one run.
const gqlRunDoc = `query mfbotRun($id: uuid!) {
  flow_run_by_pk(id: $id) { ...mfbotRun }
}` + gqlRunFields

// gqlTaskRunsDoc reads a run's task runs, by start; through the run, so
// an unknown run is told apart from a run without task runs.
const gqlTaskRunsDoc = `query mfbotTaskRuns($id: uuid!) {
  flow_run_by_pk(id: $id) {
    id
    task_runs(order_by: [{start_time: asc_nulls_last}, {created: asc}]) {
      id
      name
      map_index
      state
      state_message
      start_time
      end_time
      task { name }
    }
  }
}`

// gqlLogsDoc reads the newest $limit lines of a run (its task runs'
// included: Prefect 1 sets flow_run_id on them too), newest first.
const gqlLogsDoc = `query mfbotLogs($id: uuid!, $limit: Int!) {
  flow_run_by_pk(id: $id) {
    id
    logs(order_by: [{timestamp: desc}, {id: desc}], limit: $limit) {
      timestamp
      level
      name
      message
    }
  }
}`

// gqlRunByKeyDoc finds the run an idempotency key already created.
const gqlRunByKeyDoc = `query mfbotRunByIdempotencyKey($flowId: uuid!, $key: String!) {
  flow_run(
    where: {flow_id: {_eq: $flowId}, idempotency_key: {_eq: $key}}
    order_by: [{created: asc}]
    limit: 1
  ) { ...mfbotRun }
}` + gqlRunFields

// gqlStartRunDoc creates a run of a flow version; the idempotency key
// makes a retried request give back the same run.
const gqlStartRunDoc = `mutation mfbotStartRun($flowId: UUID!, $key: String!) {
  create_flow_run(input: {flow_id: $flowId, idempotency_key: $key}) { id }
}`

// gqlCancelRunDoc cancels a run.
const gqlCancelRunDoc = `mutation mfbotCancelRun($id: UUID!) {
  cancel_flow_run(input: {flow_run_id: $id}) { state }
}`

// The schedule mutations take a flow (version) ID. Both answer under the
// alias result, so one type decodes either.
const (
	gqlScheduleActiveDoc = `mutation mfbotSetScheduleActive($flowId: UUID!) {
  result: set_schedule_active(input: {flow_id: $flowId}) { success error }
}`
	gqlScheduleInactiveDoc = `mutation mfbotSetScheduleInactive($flowId: UUID!) {
  result: set_schedule_inactive(input: {flow_id: $flowId}) { success error }
}`
)

// gqlFinishedSinceDoc is the watcher's poll: runs whose state became
// final after $since, oldest first, with their flow, in one request. It
// filters on state_timestamp: Prefect 1 sets no end_time on
// TriggerFailed and ValidationFailed.
const gqlFinishedSinceDoc = `query mfbotFinishedSince($since: timestamptz!, $states: [String!]!, $limit: Int!) {
  flow_run(
    where: {state: {_in: $states}, state_timestamp: {_gt: $since}}
    order_by: [{state_timestamp: asc}, {id: asc}]
    limit: $limit
  ) { ...mfbotRun }
}` + gqlRunFields

// gqlRunningSinceDoc finds runs running since before $startedBefore.
const gqlRunningSinceDoc = `query mfbotRunningSince($startedBefore: timestamptz!) {
  flow_run(
    where: {state: {_eq: "Running"}, start_time: {_lt: $startedBefore}}
    order_by: [{start_time: asc}]
  ) { ...mfbotRun }
}` + gqlRunFields
