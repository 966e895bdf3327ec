// Panels for frame review status, issues, sign-off, history and the audit log: one registerPanel call each.
export function registerAuditPanels(): void {
  // Filled in as the panels land.
}
