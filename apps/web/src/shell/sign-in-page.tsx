import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';
import { errorCode, errorMessage, useTRPC } from '../api/trpc.ts';

/** Shown at any address while signed out; signing in shows the page that was asked for. */
export function SignInPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const errorId = useId();
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      onSuccess(me) {
        queryClient.setQueryData(trpc.auth.me.queryKey(), me);
      },
    }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signIn.mutate({ email, password });
  };
  const failed = signIn.isError;
  const message = failed
    ? errorCode(signIn.error) === 'INTERNAL_SERVER_ERROR'
      ? 'Signing in failed on our side. Try again in a moment.'
      : errorMessage(signIn.error)
    : null;

  return (
    <main className="centered-page">
      <form className="card sign-in" onSubmit={submit} aria-labelledby="sign-in-heading" noValidate>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            B
          </span>
          <span className="brand-name">Admin panel</span>
        </div>
        <h1 id="sign-in-heading">Sign in</h1>
        <div className="field">
          <label htmlFor="sign-in-email">Email</label>
          <input
            id="sign-in-email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={(event) => setEmail(event.target.value)}
            aria-invalid={failed || undefined}
            aria-describedby={failed ? errorId : undefined}
          />
        </div>
        <div className="field">
          <label htmlFor="sign-in-password">Password</label>
          <input
            id="sign-in-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            aria-invalid={failed || undefined}
            aria-describedby={failed ? errorId : undefined}
          />
        </div>
        {message && (
          <p id={errorId} className="form-error" role="alert">
            {message}
          </p>
        )}
        <button type="submit" className="button button-primary button-block" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
