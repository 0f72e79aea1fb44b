import { Account } from './account.entity.ts';
import { DirectoryUser } from './directory-user.entity.ts';
import { Organisation } from './organisation.entity.ts';
import { Session } from './session.entity.ts';
import { SignInAttempt } from './sign-in-attempt.entity.ts';
import {
  RunNotification,
  SlackAccountLink,
  SlackInstallation,
  SlackLinkCode,
  SlackRequest,
} from './slack.entity.ts';
import { SyncConfiguration } from './sync-configuration.entity.ts';
import { SyncLogChunk } from './sync-log-chunk.entity.ts';
import { SyncLogPerson } from './sync-log-person.entity.ts';
import { SyncRun } from './sync-run.entity.ts';
import { SyncRunApproval } from './sync-run-approval.entity.ts';
import { SyncRunBlockedUser } from './sync-run-blocked-user.entity.ts';

export type { ThresholdDetails } from './sync-run.entity.ts';
export {
  Account,
  DirectoryUser,
  Organisation,
  RunNotification,
  Session,
  SignInAttempt,
  SlackAccountLink,
  SlackInstallation,
  SlackLinkCode,
  SlackRequest,
  SyncConfiguration,
  SyncLogChunk,
  SyncLogPerson,
  SyncRun,
  SyncRunApproval,
  SyncRunBlockedUser,
};

export const ENTITIES = [
  Organisation,
  Account,
  Session,
  SignInAttempt,
  SyncConfiguration,
  DirectoryUser,
  SyncRun,
  SyncLogChunk,
  RunNotification,
  SlackInstallation,
  SlackAccountLink,
  SlackLinkCode,
  SlackRequest,
  SyncRunApproval,
  SyncRunBlockedUser,
  SyncLogPerson,
];
