/** @calseta/workflow-sandbox — runs workflow code in QuickJS with hard limits. */
export {};
