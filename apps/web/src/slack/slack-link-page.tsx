import { SLACK_LINK_CODE_MINUTES } from '@provisioning/shared';
import { useMutation } from '@tanstack/react-query';
import { errorMessage, type Me, useTRPC } from '../api/trpc.ts';

export const SLACK_LINK_PATH = '/slack/link';

/**
 * Where `/sync-logs link` leads: the signed-in account confirms that the Slack user who asked may get
 * this account's log files in Slack. Nothing happens until the button is pressed (a link preview or a
 * prefetch must not link anyone).
 */
export function SlackLinkPage({ me, code }: { me: Me; code: string | null }) {
  const trpc = useTRPC();
  const confirm = useMutation(trpc.slack.confirmLink.mutationOptions());
  return (
    <section className="page" aria-labelledby="slack-link-heading">
      <h1 id="slack-link-heading">Link your Slack account</h1>
      {code === null ? (
        <p role="alert">
          This address has no link code. Run <code>/sync-logs link</code> in Slack and open the link it gives
          you.
        </p>
      ) : confirm.isSuccess ? (
        <p role="status">
          Linked. In Slack, <code>/sync-logs</code> now sends you log files as {me.account.name} (
          {me.account.email}). Run <code>/sync-logs unlink</code> there to undo it.
        </p>
      ) : (
        <>
          <p>
            A Slack user asked to receive User Provisioning log files in Slack as you, {me.account.name} (
            {me.account.email}), of {me.organisation.name}. Confirm only if you ran{' '}
            <code>/sync-logs link</code> yourself in the last {SLACK_LINK_CODE_MINUTES} minutes.
          </p>
          {confirm.isError && <p role="alert">{errorMessage(confirm.error)}</p>}
          <p>
            <button
              type="button"
              className="button button-primary"
              disabled={confirm.isPending}
              onClick={() => confirm.mutate({ code })}
            >
              {confirm.isPending ? 'Linking…' : 'Link my Slack account'}
            </button>
          </p>
        </>
      )}
    </section>
  );
}
