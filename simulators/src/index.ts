export * from './device-client';
export * from './synthetic';
export { LiteMqttLink, ConnectRefusedError, type LiteLinkOptions } from './mqtt-lite';
export { SimClock, type ClockOptions, type TimeMode } from './clock';
export { CITY, DISTRICTS, PROVINCE, districtOutline, type District, type Office } from './guangxi';
export {
  buildDemoPlan,
  CURFEW_SCHEDULE,
  DEFAULT_DEMO_SUBJECTS,
  type DemoPlan,
  type DemoPlanOptions,
  type DemoZone,
} from './demo-plan';
export {
  loadManifest,
  manifestDevices,
  manifestPath,
  MANIFEST_FILE,
  type DemoDevice,
  type DemoManifest,
  type DemoTerminal,
  type DemoWristband,
} from './manifest';
export { DeviceMemory, MEMORY_FILE, type DeviceMemoryEntry } from './memory';
export { seedDemo, type DemoLogin, type SeedDemoOptions, type SeedDemoResult } from './seed';
export { dayPlan, Routine, type Segment } from './routine';
export { SimWristband } from './wristband';
export { SimTerminal } from './terminal';
export { ScriptedWristband } from './scripted';
export { startFleet, type Fleet, type FleetOptions, type FleetStats } from './fleet';
export {
  DEFAULT_TIMING,
  SCENARIOS,
  SCENARIO_NAMES,
  isScenarioName,
  runScenario,
  scenarioEligibility,
  scenarioInfo,
  type ExpectedAlert,
  type ScenarioContext,
  type ScenarioInfo,
  type ScenarioName,
  type ScenarioRun,
  type ScenarioTiming,
} from './scenarios';
export { startDemo, type Demo, type StartDemoOptions } from './demo';
export { consoleLogger, silentLogger, type Logger } from './log';
