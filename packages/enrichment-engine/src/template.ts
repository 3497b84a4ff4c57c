// The template language of provider `http_config` strings lives in @calseta/plugin-sdk (one
// implementation for the engine and the plugin conformance kit); re-exported for the engine.
export type {
  Placeholder,
  RenderOptions,
  TemplateErrorCode,
  TemplateFilter,
  TemplatePosition,
  TemplateRef,
  TemplateScope,
  TemplateToken,
} from '@calseta/plugin-sdk';
export {
  encodeComponent,
  lookup,
  MASK,
  parsePlaceholder,
  parseTemplate,
  placeholdersOf,
  renderJson,
  renderTemplate,
  TEMPLATE_FILTERS,
  TemplateError,
} from '@calseta/plugin-sdk';
