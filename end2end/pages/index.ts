export { AppShell, BasePage } from './base';
export { LoginPage, SetupPage, SetPasswordPage } from './auth';
export { Reveal } from './reveal';
export { ServiceAccountPage, ServiceAccountsPage } from './service-accounts';
export { TeamPage } from './team';
export { TokenList } from './tokens';
export { TokenTable } from './token-table';
export { TokenDetailPage } from './token-detail';
export { SettingsPage, WebhooksPage } from './settings';
