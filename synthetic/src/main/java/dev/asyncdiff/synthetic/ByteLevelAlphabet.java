package dev.asyncdiff.synthetic;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The byte-level alphabet of GPT-2 and CLIP ({@code bytes_to_unicode}): each of the 256 byte values
 * maps to one printable character; printable Latin-1 bytes map to themselves, the others to
 * {@code U+0100} onwards. Tokens are strings over this alphabet.
 */
public final class ByteLevelAlphabet {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final List<String> SYMBOLS;

    static {
        List<Integer> order = new ArrayList<>(256);
        boolean[] printable = new boolean[256];
        for (int b = 0; b < 256; b++) {
            printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            if (printable[b]) {
                order.add(b);
                BYTE_TO_CHAR[b] = (char) b;
            }
        }
        int next = 0;
        for (int b = 0; b < 256; b++) {
            if (!printable[b]) {
                order.add(b);
                BYTE_TO_CHAR[b] = (char) (256 + next++);
            }
        }
        List<String> symbols = new ArrayList<>(256);
        for (int b : order) {
            symbols.add(String.valueOf(BYTE_TO_CHAR[b]));
        }
        SYMBOLS = List.copyOf(symbols);
    }

    private ByteLevelAlphabet() {
    }

    /** The 256 symbols in the order CLIP's vocabulary lists them ({@code "!"} first). */
    public static List<String> symbols() {
        return SYMBOLS;
    }

    /** The symbol of one byte value (0 to 255). */
    public static char symbolOf(int byteValue) {
        return BYTE_TO_CHAR[byteValue & 0xFF];
    }

    /** The UTF-8 bytes of {@code text}, each replaced by its symbol. */
    public static String encode(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        StringBuilder out = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            out.append(BYTE_TO_CHAR[b & 0xFF]);
        }
        return out.toString();
    }
}
