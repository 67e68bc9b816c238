package dev.asyncdiff.adapters.sd.tokenizer;

/**
 * The token ids of one text, with BOS first and EOS last, without padding.
 *
 * @param ids           the ids, at most {@code model_max_length} of them
 * @param droppedTokens how many tokens truncation removed from the end of the text (0 when none)
 */
public record Encoding(int[] ids, int droppedTokens) {
    /** Copies the ids and checks the count. */
    public Encoding {
        if (ids == null || ids.length < 2) {
            throw new IllegalArgumentException("an encoding holds at least BOS and EOS");
        }
        if (droppedTokens < 0) {
            throw new IllegalArgumentException("droppedTokens must be >= 0, was " + droppedTokens);
        }
        ids = ids.clone();
    }

    /** The ids; a copy. */
    @Override
    public int[] ids() {
        return ids.clone();
    }

    /** Whether tokens were dropped to fit {@code model_max_length}. */
    public boolean truncated() {
        return droppedTokens > 0;
    }

    /** The number of ids. */
    public int length() {
        return ids.length;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof Encoding e && java.util.Arrays.equals(ids, e.ids) && droppedTokens == e.droppedTokens;
    }

    @Override
    public int hashCode() {
        return 31 * java.util.Arrays.hashCode(ids) + droppedTokens;
    }

    @Override
    public String toString() {
        return "Encoding" + java.util.Arrays.toString(ids) + (truncated() ? " (" + droppedTokens + " dropped)" : "");
    }
}
