import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { api, getToken, onUnauthorised, setToken } from './client';
import type { User } from './types';

interface AuthState {
  user: User | null;
  /** True until the stored token has been checked with /auth/me. */
  checking: boolean;
  login(username: string, password: string, totp?: string): Promise<User>;
  logout(): Promise<void>;
}

const AuthContext = createContext<AuthState | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [user, setUser] = useState<User | null>(null);
  const [checking, setChecking] = useState(() => getToken() !== null);

  useEffect(() => {
    if (!getToken()) return;
    api<User>('/auth/me')
      .then(setUser)
      .catch(() => setToken(null))
      .finally(() => setChecking(false));
  }, []);

  useEffect(
    () =>
      onUnauthorised(() => {
        setUser(null);
        queryClient.clear();
      }),
    [queryClient],
  );

  const login = useCallback(async (username: string, password: string, totp?: string) => {
    const res = await api<{ token: string; user: User }>('/auth/login', {
      method: 'POST',
      body: { username, password, ...(totp ? { totp } : {}) },
    });
    setToken(res.token);
    setUser(res.user);
    return res.user;
  }, []);

  const logout = useCallback(async () => {
    try {
      await api('/auth/logout', { method: 'POST' });
    } catch {
      // The session may already be gone; signing out locally is what matters.
    }
    setToken(null);
    setUser(null);
    queryClient.clear();
  }, [queryClient]);

  const value = useMemo(() => ({ user, checking, login, logout }), [user, checking, login, logout]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The signed-in user (inside the authenticated layout only). */
export function useUser(): User {
  const { user } = useAuth();
  if (!user) throw new Error('no signed-in user');
  return user;
}

/** Roles that may change things (the procuratorate reads only; police query only). */
export const canWrite = (user: User) =>
  user.role === 'officer' || user.role === 'bureau' || user.role === 'admin';
export const readsPositions = (user: User) =>
  user.role === 'officer' || user.role === 'bureau' || user.role === 'auditor';
