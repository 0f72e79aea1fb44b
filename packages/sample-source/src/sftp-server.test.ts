import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { generateSshKeyPair, sshFingerprint } from './sftp-server.js';

describe('generateSshKeyPair', () => {
  // ssh2 mangles about one ed25519 public key in 256; a thousand pairs meet such a key with 98% odds.
  it('hands out only pairs whose both halves ssh2 reads, with the private key’s fingerprint', () => {
    for (let i = 0; i < 1000; i++) {
      const pair = generateSshKeyPair();
      const publicKey = utils.parseKey(pair.publicKey);
      const privateKey = utils.parseKey(pair.privateKey);
      if (publicKey instanceof Error) throw publicKey;
      if (privateKey instanceof Error) throw privateKey;
      expect(sshFingerprint(privateKey.getPublicSSH())).toBe(pair.fingerprint);
    }
  });

  it('encrypts the private key with a given passphrase', () => {
    const pair = generateSshKeyPair('correct horse');
    expect(utils.parseKey(pair.privateKey)).toBeInstanceOf(Error);
    const opened = utils.parseKey(pair.privateKey, 'correct horse');
    if (opened instanceof Error) throw opened;
    expect(sshFingerprint(opened.getPublicSSH())).toBe(pair.fingerprint);
  });
});
