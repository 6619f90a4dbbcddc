import type { UiAsset } from "../../ui/bundle.ts";

/**
 * Where the UI's files come from when running from source (`npm start`): a
 * fresh in-memory build. build.ts swaps this module for one holding the
 * files built ahead of time, so the binary embeds them and carries no bundler.
 */
export async function loadUiAssets(): Promise<UiAsset[]> {
  const { bundleUi } = await import("../../ui/bundle.ts");
  return bundleUi({ minify: false });
}
