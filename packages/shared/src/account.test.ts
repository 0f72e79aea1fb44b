import { describe, expect, it } from 'vitest';
import { AccountInputSchema } from './account.ts';
import { SignInInputSchema } from './run-list.ts';

const account = {
  organisationId: 'org-1',
  email: 'ada@acme.example',
  name: 'Ada Lovelace',
  password: 'correct horse battery staple',
  roles: ['org-admin'],
};

describe('account input', () => {
  it('accepts a long password of printable characters, spaces and any script', () => {
    expect(AccountInputSchema.safeParse(account).success).toBe(true);
    expect(AccountInputSchema.safeParse({ ...account, password: 'mot de passe très sûr 🔑' }).success).toBe(
      true,
    );
  });

  it('refuses a password with a NUL or another control character, which scrypt would drop or a form could not type', () => {
    for (const password of [
      `${account.password}\u0000`,
      `\u0000${account.password}`,
      `${account.password}\n`,
      `tab\tseparated password`,
    ]) {
      const result = AccountInputSchema.safeParse({ ...account, password });
      expect(result.success, JSON.stringify(password)).toBe(false);
      expect(result.error?.issues[0]?.path).toEqual(['password']);
    }
  });
});

describe('sign-in input', () => {
  it('refuses a NUL in the password or control characters in the email', () => {
    expect(SignInInputSchema.safeParse({ email: 'a@b.example', password: 'pw\u0000' }).success).toBe(false);
    expect(SignInInputSchema.safeParse({ email: 'a\u0000@b.example', password: 'pw' }).success).toBe(false);
    expect(SignInInputSchema.safeParse({ email: ' a@b.example ', password: ' pw ' }).data).toEqual({
      email: 'a@b.example',
      password: ' pw ',
    });
  });
});
