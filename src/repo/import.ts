/**
 * `dv import <repo> <target>` and `dv update`: data from another dv repository, tracked here
 * with its origin. The pointer file records the source (`deps: [{path, repo: {url, rev,
 * rev_lock}}]`, the shape DVC uses), the objects are copied into this repository's cache, and
 * the data is checked out. `dv update` re-reads the source at `rev` (default: its HEAD) and moves
 * the import to that commit's version.
 */
import {existsSync} from 'node:fs'
import {basename, relative, resolve} from 'node:path'

import {AlreadyTrackedError, DvError} from '../errors.js'
import {POINTER_SUFFIX, type Pointer} from '../models/pointer.js'
import {checkout} from './checkout.js'
import {copyObjects, outOf, sourceVersion, type SourceVersion} from './get.js'
import {addIgnoreLine} from './gitignore.js'
import {Repo} from './repo.js'
import {resolveTargets} from './targets.js'

interface ImportDep {
  path: string
  repo: {url: string; rev?: string; rev_lock: string}
}

export interface ImportResult {
  pointer: string
  path: string
  url: string
  rev_lock: string
  /** False when `dv update` found the import already at the newest commit. */
  changed: boolean
}

function depOf(pointer: Pointer, file: string): ImportDep {
  const deps = pointer.extra.deps
  const dep = Array.isArray(deps) ? (deps[0] as ImportDep | undefined) : undefined
  if (!dep || typeof dep.path !== 'string' || typeof dep.repo?.url !== 'string' || typeof dep.repo.rev_lock !== 'string') {
    throw new DvError('ENOTIMPORT', `${file} is not an import (no deps: [{path, repo: {url, rev_lock}}])`)
  }
  return dep
}

export async function importData(source: string, target: string, options: {cwd?: string; rev?: string; out?: string; force?: boolean} = {}): Promise<ImportResult> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  const v = await sourceVersion(source, target, options.rev ?? 'HEAD', cwd)
  try {
    return await importVersion(repo, v, source, target, cwd, options)
  } finally {
    v.close()
  }
}

async function importVersion(repo: Repo, v: SourceVersion, source: string, target: string, cwd: string, options: {rev?: string; out?: string; force?: boolean}): Promise<ImportResult> {
  const rel = repo.resolvePath(options.out ?? basename(v.tracked.path), cwd)
  const pointerFile = rel + POINTER_SUFFIX
  for (const t of repo.trackedOuts()) {
    if (t.path === rel && t.pointer !== pointerFile) throw new AlreadyTrackedError(rel, t.pointer)
  }
  if (existsSync(repo.abs(rel)) && !existsSync(repo.abs(pointerFile)) && !options.force) {
    throw new DvError('EEXIST', `${rel} already exists (use --force to replace it)`)
  }
  await copyObjects(v, repo.odb)
  // A local source is recorded relative to this repository's root, so clones elsewhere still find
  // it; a git URL as given.
  const url = existsSync(resolve(cwd, source)) ? relative(repo.root, resolve(cwd, source)) || '.' : source
  const dep: ImportDep = {path: v.tracked.path, repo: {url, ...(options.rev ? {rev: options.rev} : {}), rev_lock: v.commit}}
  repo.writePointer(pointerFile, {outs: [outOf(v, basename(rel))], extra: {deps: [dep], frozen: true}})
  if (repo.git) addIgnoreLine(repo.root, rel)
  await checkout([pointerFile], {cwd, force: options.force})
  return {pointer: pointerFile, path: rel, url, rev_lock: v.commit, changed: true}
}

export async function update(targets: string[], options: {cwd?: string; rev?: string} = {}): Promise<ImportResult[]> {
  const cwd = options.cwd ?? process.cwd()
  const repo = Repo.open(cwd)
  const pointers = [...new Set(resolveTargets(repo, targets, cwd).map((t) => t.pointer))]
  const results: ImportResult[] = []
  for (const pointerFile of pointers) {
    const pointer = repo.readPointer(pointerFile)
    const dep = depOf(pointer, pointerFile)
    const rev = options.rev ?? dep.repo.rev ?? 'HEAD'
    const v = await sourceVersion(dep.repo.url, dep.path, rev, repo.root)
    const path = repo.outPath(pointerFile, pointer.outs[0])
    try {
      if (v.commit === dep.repo.rev_lock) {
        results.push({pointer: pointerFile, path, url: dep.repo.url, rev_lock: v.commit, changed: false})
        continue
      }
      await copyObjects(v, repo.odb)
    } finally {
      v.close()
    }
    const before = structuredClone(pointer)
    const updated: Pointer = {outs: [outOf(v, pointer.outs[0].path)], extra: {...pointer.extra, deps: [{path: dep.path, repo: {...dep.repo, ...(options.rev ? {rev: options.rev} : {}), rev_lock: v.commit}}]}}
    repo.writePointer(pointerFile, updated)
    try {
      await checkout([pointerFile], {cwd: repo.root})
    } catch (error) {
      repo.writePointer(pointerFile, before) // the workspace was left alone: so is the pointer
      throw error
    }
    results.push({pointer: pointerFile, path, url: dep.repo.url, rev_lock: v.commit, changed: true})
  }
  return results
}
