// Panels for label editing (2D/3D, tracks): one registerPanel call each.
export function registerLabelPanels(): void {
  // Filled in as the panels land.
}
