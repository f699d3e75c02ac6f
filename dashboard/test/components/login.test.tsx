// @vitest-environment happy-dom
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { App as AntApp } from 'antd';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../../src/api/auth';
import i18n, { setLanguage } from '../../src/i18n';
import { LoginPage } from '../../src/pages/LoginPage';

function renderLogin() {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <MemoryRouter initialEntries={['/login']}>
        <AuthProvider>
          <AntApp>
            <LoginPage />
          </AntApp>
        </AuthProvider>
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

describe('sign-in page', () => {
  afterEach(async () => {
    cleanup();
    vi.unstubAllGlobals();
    await setLanguage('zh-CN');
  });

  it('shows the server’s reason when sign-in is refused', async () => {
    const fetch = vi.fn(
      async () =>
        new Response(
          JSON.stringify({ error: { code: 'INVALID_CREDENTIALS', message: '用户名或密码错误' } }),
          { status: 401, headers: { 'content-type': 'application/json' } },
        ),
    );
    vi.stubGlobal('fetch', fetch);
    renderLogin();
    fireEvent.change(screen.getByTestId('username'), { target: { value: 'officer.a' } });
    fireEvent.change(screen.getByTestId('password'), { target: { value: 'wrong-password' } });
    fireEvent.click(screen.getByTestId('login-submit'));
    await waitFor(() => expect(screen.getByText('登录失败：用户名或密码错误')).toBeTruthy());
    expect(fetch).toHaveBeenCalledWith(
      '/api/v1/auth/login',
      expect.objectContaining({
        method: 'POST',
        body: JSON.stringify({ username: 'officer.a', password: 'wrong-password' }),
      }),
    );
  });

  it('is in Chinese first and switches to English', async () => {
    renderLogin();
    expect(i18n.language).toBe('zh-CN');
    expect(screen.getByText('社区矫正监管平台')).toBeTruthy();
    fireEvent.click(screen.getByText('EN'));
    await waitFor(() => expect(screen.getByText('Community-Correction Monitoring')).toBeTruthy());
    expect(localStorage.getItem('ccm.language')).toBe('en');
  });
});
