import { z } from 'zod';
import { RoleSchema } from './roles.ts';
import { noControlCharacters, singleLineText } from './text.ts';

export const EmailSchema = z.email('Email must be an email address').max(254, 'Email is too long');

export const AccountInputSchema = z.object({
  organisationId: z.string().min(1, 'Organisation is required'),
  email: z.string().trim().pipe(EmailSchema),
  name: singleLineText('Name', 200),
  password: z
    .string()
    .min(12, 'Password must be at least 12 characters')
    .max(1024, 'Password must be at most 1024 characters')
    // scrypt drops trailing NULs, and no one types control characters into a sign-in form.
    .pipe(noControlCharacters('Password')),
  roles: z
    .array(RoleSchema)
    .min(1, 'At least one role is required')
    .transform((roles) => [...new Set(roles)]),
});
export type AccountInput = z.input<typeof AccountInputSchema>;
