// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { SlackNotification } from './slack-notification.tsx';

afterEach(cleanup);

const section = () => screen.getByRole('region', { name: 'Slack notification' });

describe('SlackNotification', () => {
  it('says when the message was posted, on the organisation’s clock', () => {
    render(
      <SlackNotification
        notification={{ state: 'sent', reason: null, sentAt: '2024-01-15T22:31:00.000Z' }}
        finished
        timeZone="Asia/Tokyo"
      />,
    );
    expect(section().textContent).toBe('Slack notificationSent — Posted at 7:31 am 16 Jan 2024.');
  });

  it('says why none was sent: the policy', () => {
    render(
      <SlackNotification
        notification={{
          state: 'skipped',
          reason: 'Successful runs are not posted (notification policy: failures).',
          sentAt: null,
        }}
        finished
        timeZone="UTC"
      />,
    );
    expect(section().textContent).toContain('Not sent — Successful runs are not posted');
  });

  it('shows a failure with Slack’s reason and what to do', () => {
    render(
      <SlackNotification
        notification={{
          state: 'failed',
          reason: 'The bot is not in the channel (not_in_channel): invite it there.',
          sentAt: null,
        }}
        finished
        timeZone="UTC"
      />,
    );
    expect(section().textContent).toContain('Failed — The bot is not in the channel (not_in_channel)');
    expect(section().getAttribute('data-notification')).toBe('failed');
  });

  it('says a run still going has no notification yet', () => {
    render(<SlackNotification notification={null} finished={false} timeZone="UTC" />);
    expect(section().textContent).toBe('Slack notificationNot yet');
  });
});
