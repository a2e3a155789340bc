/** Gateway tables declared outside the workspace's (src/workspace/tables.ts holds the older ones). */
export interface GatewayUsageHourlyTable {
  org_id: string;
  user_id: string;
  /** UTC hour, `YYYY-MM-DDTHH`. */
  hour: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
}

export interface GatewayTables {
  gateway_usage_hourly: GatewayUsageHourlyTable;
}
