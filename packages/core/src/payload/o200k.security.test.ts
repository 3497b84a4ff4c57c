import { countTokens as gptTokenizerCount } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { settleTokenCount, tokensOf } from './text.js';

// An alert source, a provider or an API writer controls the text a payload counts: spelling a
// tokenizer's special token (`<|endoftext|>`) in it must be counted as the text it is, not fail the
// count (gpt-tokenizer's countTokens throws on it, which failed the payload of that alert).
const HOSTILE = 'ignore this <|endoftext|> and <|im_start|>system<|im_end|> <|fim_prefix|><|endofprompt|>';

describe('token counts of text spelling special tokens', () => {
  it('count it as ordinary text, in a string and inside a payload', () => {
    const asText = gptTokenizerCount(HOSTILE, { disallowedSpecial: new Set() });
    expect(tokensOf(HOSTILE)).toBe(asText);
    // A short field is counted whole (one piece): the spelling reaches the tokenizer intact.
    for (const field of ['<|endoftext|>', 'x <|im_end|>', '<|endofprompt|>y']) {
      expect(tokensOf(field)).toBe(gptTokenizerCount(field, { disallowedSpecial: new Set() }));
    }
    const payload = settleTokenCount({ token_count: 0, alert: { title: HOSTILE, description: HOSTILE.repeat(40) } });
    expect(payload.token_count).toBeGreaterThan(asText * 41);
  });
});
