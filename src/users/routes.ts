import { defineRoute } from '../contract/route';
import { SettingsView, UpdateMe, UpdateSettings, UserView } from './contract';

export const getMeRoute = defineRoute({
  operationId: 'getMe',
  method: 'GET',
  path: '/me',
  summary: 'The calling user, created on first sight',
  auth: 'required',
  responses: { 200: UserView },
  errors: ['unauthorized'],
});

export const updateMeRoute = defineRoute({
  operationId: 'updateMe',
  method: 'PATCH',
  path: '/me',
  summary: 'Change the display name or email; null clears a field',
  auth: 'required',
  body: UpdateMe,
  responses: { 200: UserView },
  errors: ['validation_failed', 'unauthorized'],
});

export const getSettingsRoute = defineRoute({
  operationId: 'getSettings',
  method: 'GET',
  path: '/me/settings',
  summary: "The caller's settings; defaults are stored on first read",
  auth: 'required',
  responses: { 200: SettingsView },
  errors: ['unauthorized'],
});

export const updateSettingsRoute = defineRoute({
  operationId: 'updateSettings',
  method: 'PUT',
  path: '/me/settings',
  summary: 'Replace some or all settings; absent fields keep their value',
  auth: 'required',
  body: UpdateSettings,
  responses: { 200: SettingsView },
  errors: ['validation_failed', 'unauthorized'],
});
