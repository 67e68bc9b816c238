package dev.asyncdiff.adapters.sd;

import java.util.ArrayList;
import java.util.List;

/**
 * Overlapping square tiles over an image, and the weights that blend their results back into one: each
 * tile's weight ramps linearly across the overlap on every side it shares with a neighbour, so the seams
 * fade and the weights of the tiles covering a pixel sum to a positive number everywhere.
 *
 * @param width   image width (input pixels)
 * @param height  image height
 * @param size    tile side; an image no larger than this is one tile of its own size
 * @param overlap pixels neighbouring tiles share
 */
record Tiles(int width, int height, int size, int overlap) {
    /** One tile: its top-left corner and size, in input pixels. */
    record Tile(int x, int y, int width, int height) {
    }

    Tiles {
        if (size > 0 && overlap * 2 > size) {
            throw new IllegalArgumentException("tiles of " + size + " pixels cannot overlap by " + overlap);
        }
    }

    /** The tiles in row-major order: starts {@code size − overlap} apart, the last aligned with the far edge. */
    List<Tile> all() {
        List<Tile> tiles = new ArrayList<>();
        for (int y : starts(height)) {
            for (int x : starts(width)) {
                tiles.add(new Tile(x, y, Math.min(tileSide(width), width), Math.min(tileSide(height), height)));
            }
        }
        return tiles;
    }

    private int tileSide(int extent) {
        return size <= 0 || extent <= size ? extent : size;
    }

    private List<Integer> starts(int extent) {
        int side = tileSide(extent);
        List<Integer> starts = new ArrayList<>();
        if (side >= extent) {
            starts.add(0);
            return starts;
        }
        for (int start = 0; ; start += side - overlap) {
            if (start + side >= extent) {
                starts.add(extent - side);
                return starts;
            }
            starts.add(start);
        }
    }

    /**
     * Adds {@code values} (a tile's planes {@code [planes, tile.height·scale, tile.width·scale]}) times the tile's
     * blend weights into {@code sum}, the image's planes at {@code scale} times its size.
     */
    void accumulate(Tile tile, float[] values, int planes, int scale, float[] sum) {
        int tileWidth = tile.width() * scale;
        int tileHeight = tile.height() * scale;
        int plane = width * scale * height * scale;
        for (int v = 0; v < tileHeight; v++) {
            for (int u = 0; u < tileWidth; u++) {
                double weight = weight(tile, u, v, scale);
                int pixel = (tile.y() * scale + v) * width * scale + tile.x() * scale + u;
                for (int p = 0; p < planes; p++) {
                    sum[p * plane + pixel] += (float) (weight * values[(p * tileHeight + v) * tileWidth + u]);
                }
            }
        }
    }

    /** The sum of every tile's blend weights per pixel of the image at {@code scale} times its size. */
    float[] weights(int scale) {
        float[] weights = new float[width * scale * height * scale];
        for (Tile tile : all()) {
            for (int v = 0; v < tile.height() * scale; v++) {
                for (int u = 0; u < tile.width() * scale; u++) {
                    weights[(tile.y() * scale + v) * width * scale + tile.x() * scale + u] += (float) weight(tile, u, v,
                            scale);
                }
            }
        }
        return weights;
    }

    private double weight(Tile tile, int u, int v, int scale) {
        return ramp(v, tile.height() * scale, scale, tile.y() > 0, tile.y() + tile.height() < height)
                * ramp(u, tile.width() * scale, scale, tile.x() > 0, tile.x() + tile.width() < width);
    }

    /** {@code sum} divided by {@code weights}, plane by plane. */
    static float[] normalize(float[] sum, float[] weights) {
        float[] out = new float[sum.length];
        for (int i = 0; i < sum.length; i++) {
            out[i] = sum[i] / weights[i % weights.length];
        }
        return out;
    }

    /** The weight at {@code position} of {@code extent}: rising over the overlap on a shared near or far side. */
    private double ramp(int position, int extent, int scale, boolean nearShared, boolean farShared) {
        double band = (double) overlap * scale;
        double weight = 1;
        if (nearShared && band > 0) {
            weight = Math.min(weight, (position + 0.5) / band);
        }
        if (farShared && band > 0) {
            weight = Math.min(weight, (extent - position - 0.5) / band);
        }
        return Math.max(weight, 1e-3);
    }
}
