package dev.asyncdiff.synthetic;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes JSON files the way Python's {@code json.dumps(obj, indent=2)} lays them out (two-space
 * indent, {@code "key": value}, one array element per line, a final newline), UTF-8 without
 * escaping non-ASCII characters. Key order is the map's iteration order.
 */
final class Json {
    private static final ObjectWriter PRETTY;
    private static final ObjectWriter COMPACT;

    static {
        DefaultIndenter indenter = new DefaultIndenter("  ", "\n");
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter(Separators.createDefaultInstance()
                .withObjectFieldValueSpacing(Separators.Spacing.AFTER))
                .withObjectIndenter(indenter)
                .withArrayIndenter(indenter);
        ObjectMapper mapper = new ObjectMapper().disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        PRETTY = mapper.writer(printer);
        COMPACT = mapper.writer();
    }

    private Json() {
    }

    /** Writes {@code value} indented to {@code file}. */
    static void write(Path file, Object value) {
        writeString(file, toPrettyString(value) + "\n");
    }

    /** Writes {@code value} on one line to {@code file} (for large maps such as {@code vocab.json}). */
    static void writeCompact(Path file, Object value) {
        try {
            writeString(file, COMPACT.writeValueAsString(value) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialise JSON for " + file, e);
        }
    }

    /** The indented JSON text of {@code value}. */
    static String toPrettyString(Object value) {
        try {
            return PRETTY.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialise JSON: " + e.getMessage(), e);
        }
    }

    /** Writes {@code text} as UTF-8 to {@code file}, naming the file when that fails. */
    static void writeString(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file.toAbsolutePath() + ": " + e, e);
        }
    }
}
