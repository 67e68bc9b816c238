package dev.asyncdiff.adapters.sd.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import dev.asyncdiff.api.MalformedModelException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A SentencePiece unigram language model and its Viterbi segmentation, as {@code sentencepiece}'s
 * {@code unigram_model.cc} computes it: the segmentation of a normalized text that maximises the sum
 * of its pieces' scores (summed in float, as there), where a character no piece covers becomes the
 * unknown piece with the lowest score minus 10, and consecutive unknown pieces are fused into one
 * (sentencepiece merges a run of unknowns; Hugging Face's T5 conversion sets {@code fuse_unk}).
 * Only normal pieces match text; control pieces ({@code <pad>}, {@code </s>}) and the unknown piece
 * never do. Immutable and thread-safe.
 */
public final class UnigramModel {
    /** Penalty below the lowest score given to a character no piece covers ({@code kUnkPenalty}). */
    static final float UNKNOWN_PENALTY = 10f;
    private static final int TYPE_NORMAL = 1;
    private static final int TYPE_UNKNOWN = 2;
    private static final int TYPE_USER_DEFINED = 4;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final List<String> pieces;
    private final Map<String, Integer> matchable;
    private final float[] scores;
    private final int unknownId;
    private final float unknownScore;
    private final int maxPieceLength;

    /**
     * A model of {@code pieces} in id order, their {@code scores}, and the ids text may match.
     *
     * @throws IllegalArgumentException when the lists differ in length, {@code unknownId} is out of
     *     range, or nothing can be matched
     */
    public UnigramModel(List<String> pieces, float[] scores, Set<Integer> matchableIds, int unknownId) {
        if (pieces.size() != scores.length) {
            throw new IllegalArgumentException(pieces.size() + " pieces but " + scores.length + " scores");
        }
        if (unknownId < 0 || unknownId >= pieces.size()) {
            throw new IllegalArgumentException("unknown id " + unknownId + " is not among the " + pieces.size()
                    + " pieces");
        }
        this.pieces = List.copyOf(pieces);
        this.scores = scores.clone();
        this.unknownId = unknownId;
        this.matchable = new HashMap<>();
        float min = Float.POSITIVE_INFINITY;
        int longest = 0;
        for (int id : matchableIds) {
            String piece = pieces.get(id);
            if (!piece.isEmpty() && id != unknownId) {
                matchable.putIfAbsent(piece, id);
                longest = Math.max(longest, piece.codePointCount(0, piece.length()));
                min = Math.min(min, scores[id]);
            }
        }
        if (matchable.isEmpty()) {
            throw new IllegalArgumentException("a unigram model needs at least one normal piece");
        }
        this.maxPieceLength = longest;
        this.unknownScore = min - UNKNOWN_PENALTY;
    }

    /**
     * Reads the model of a {@code spiece.model} file (sentencepiece's {@code ModelProto}): its pieces
     * with score and type; normal and user-defined pieces are matched.
     *
     * @throws MalformedModelException naming the file when it is not such a protobuf or holds no unknown piece
     */
    public static UnigramModel fromSentencePiece(Path file) {
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        Set<Integer> matchable = new HashSet<>();
        int unknown = -1;
        try {
            CodedInputStream in = CodedInputStream.newInstance(Files.readAllBytes(file));
            in.setSizeLimit(Integer.MAX_VALUE);
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                if (WireFormat.getTagFieldNumber(tag) != 1
                        || WireFormat.getTagWireType(tag) != WireFormat.WIRETYPE_LENGTH_DELIMITED) {
                    in.skipField(tag);
                    continue;
                }
                CodedInputStream piece = CodedInputStream.newInstance(in.readByteArray());
                String text = "";
                float score = 0;
                int type = TYPE_NORMAL;
                for (int field = piece.readTag(); field != 0; field = piece.readTag()) {
                    switch (WireFormat.getTagFieldNumber(field)) {
                        case 1 -> text = piece.readStringRequireUtf8();
                        case 2 -> score = piece.readFloat();
                        case 3 -> type = piece.readEnum();
                        default -> piece.skipField(field);
                    }
                }
                int id = pieces.size();
                pieces.add(text);
                scores.add(score);
                if (type == TYPE_NORMAL || type == TYPE_USER_DEFINED) {
                    matchable.add(id);
                } else if (type == TYPE_UNKNOWN) {
                    unknown = id;
                }
            }
        } catch (IOException e) {
            throw new MalformedModelException(file, "not a SentencePiece model: " + e.getMessage(), e);
        }
        if (unknown < 0) {
            throw new MalformedModelException(file, "the SentencePiece model has no unknown piece (" + pieces.size()
                    + " pieces read)");
        }
        return build(file, pieces, scores, matchable, unknown);
    }

    /**
     * Reads the {@code Unigram} model of a Hugging Face {@code tokenizer.json}: {@code model.vocab}
     * ({@code [piece, score]} pairs) and {@code model.unk_id}; pieces listed as special
     * {@code added_tokens} are not matched.
     *
     * @throws MalformedModelException naming the file when it holds no unigram model
     */
    public static UnigramModel fromTokenizerJson(Path file) {
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new MalformedModelException(file, "cannot read JSON: " + e.getMessage(), e);
        }
        JsonNode model = root.path("model");
        if (!"Unigram".equals(model.path("type").asText()) || !model.path("vocab").isArray()) {
            throw new MalformedModelException(file, "expected a \"Unigram\" model with a vocab, found type '"
                    + model.path("type").asText() + "'");
        }
        Set<String> special = new HashSet<>();
        for (JsonNode token : root.path("added_tokens")) {
            if (token.path("special").asBoolean(false)) {
                special.add(token.path("content").asText());
            }
        }
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        Set<Integer> matchable = new HashSet<>();
        for (JsonNode entry : model.get("vocab")) {
            if (!entry.isArray() || entry.size() != 2 || !entry.get(0).isTextual() || !entry.get(1).isNumber()) {
                throw new MalformedModelException(file, "vocab entry " + pieces.size() + " is " + entry
                        + "; expected [piece, score]");
            }
            String piece = entry.get(0).asText();
            if (!special.contains(piece)) {
                matchable.add(pieces.size());
            }
            pieces.add(piece);
            scores.add((float) entry.get(1).asDouble());
        }
        int unknown = model.path("unk_id").asInt(-1);
        if (unknown < 0 || unknown >= pieces.size()) {
            throw new MalformedModelException(file, "model.unk_id " + model.path("unk_id")
                    + " is not an id of the " + pieces.size() + " pieces");
        }
        return build(file, pieces, scores, matchable, unknown);
    }

    private static UnigramModel build(Path file, List<String> pieces, List<Float> scores, Set<Integer> matchable,
                                      int unknown) {
        float[] values = new float[scores.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = scores.get(i);
        }
        try {
            return new UnigramModel(pieces, values, matchable, unknown);
        } catch (IllegalArgumentException e) {
            throw new MalformedModelException(file, e.getMessage(), e);
        }
    }

    /** The ids of the best segmentation of an already normalized {@code text} (spaces as {@code ▁}). */
    public List<Integer> encode(String text) {
        int[] points = text.codePoints().toArray();
        int n = points.length;
        int[] offsets = new int[n + 1];
        for (int i = 0; i < n; i++) {
            offsets[i + 1] = offsets[i] + Character.charCount(points[i]);
        }
        float[] best = new float[n + 1];
        int[] from = new int[n + 1];
        int[] piece = new int[n + 1];
        boolean[] reached = new boolean[n + 1];
        reached[0] = true;
        for (int start = 0; start < n; start++) {
            if (!reached[start]) {
                continue;
            }
            boolean single = false;
            for (int length = 1; length <= maxPieceLength && start + length <= n; length++) {
                Integer id = matchable.get(text.substring(offsets[start], offsets[start + length]));
                if (id == null) {
                    continue;
                }
                single |= length == 1;
                relax(best, from, piece, reached, start, start + length, id, scores[id]);
            }
            if (!single) {
                relax(best, from, piece, reached, start, start + 1, unknownId, unknownScore);
            }
        }
        List<Integer> ids = new ArrayList<>();
        for (int end = n; end > 0; end = from[end]) {
            int id = piece[end];
            if (id == unknownId && !ids.isEmpty() && ids.get(ids.size() - 1) == unknownId) {
                continue;
            }
            ids.add(id);
        }
        java.util.Collections.reverse(ids);
        return ids;
    }

    private static void relax(float[] best, int[] from, int[] piece, boolean[] reached, int start, int end, int id,
                              float score) {
        float candidate = best[start] + score;
        if (!reached[end] || candidate > best[end]) {
            reached[end] = true;
            best[end] = candidate;
            from[end] = start;
            piece[end] = id;
        }
    }

    /** The piece of {@code id}. */
    public String piece(int id) {
        return pieces.get(id);
    }

    /** Pieces in the model, specials included. */
    public int size() {
        return pieces.size();
    }

    /** The id text falls back to for characters no piece covers. */
    public int unknownId() {
        return unknownId;
    }
}
