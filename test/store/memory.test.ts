import { storeSuite } from './suite.js'
import { memory } from '../helpers/stores.js'

storeSuite(memory)
