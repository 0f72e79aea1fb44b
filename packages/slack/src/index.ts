export * from './answer-command.ts';
export * from './connect-workspace.ts';
export * from './log-delivery.ts';
export * from './notify-policy.ts';
export * from './notify-run.ts';
export * from './run-message.blocks.ts';
export * from './slack-client.ts';
export * from './sync-logs-command.ts';
